// Package chat implements the Lab 3 chat protocol: the chat room of
// Milestone 1, the peer-to-peer chat of Milestone 2 and the authenticated
// chat of Milestone 4.
//
// It holds the server, the client-side protocol reader shared by
// chat-client and chat-bench, the interactive client, the password store
// and the parsers for every wire format. The wire protocol is described in
// README.md beside this file.
package chat
