// Command chat-server runs the Lab 3 chat server for Milestone 1
// (chatroom), 2 (p2p) or 4 (auth). See internal/multicall/chatservercmd
// and README.md.
package main

import (
	"os"

	"github.com/ntnu-ttm4200/lab3/internal/multicall/chatservercmd"
)

func main() { os.Exit(chatservercmd.Main()) }
