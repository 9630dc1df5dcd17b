// Command chat-client is the Lab 3 chat client for Milestone 1 (chatroom),
// 2 (p2p) or 4 (auth). See internal/multicall/chatclientcmd and README.md.
package main

import (
	"os"

	"github.com/ntnu-ttm4200/lab3/internal/multicall/chatclientcmd"
)

func main() { os.Exit(chatclientcmd.Main()) }
