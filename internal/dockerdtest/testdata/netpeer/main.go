// Command netpeer is the program in the test image of package dockerdtest:
// "netpeer serve PORT" echoes TCP and UDP on PORT; "netpeer probe
// HOST:PORT" sends one line over each and exits 0 when both came back.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: netpeer serve PORT | netpeer probe HOST:PORT")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2])
	case "probe":
		if err := probe(os.Args[2]); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("tcp ok, udp ok")
	default:
		os.Exit(2)
	}
}

func serve(port string) {
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pc, err := net.ListenPacket("udp", ":"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], addr)
		}
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Write([]byte(line))
		}()
	}
}

func probe(addr string) error {
	const msg = "netpeer\n"
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return fmt.Errorf("tcp: %v", err)
	}
	c.SetDeadline(time.Now().Add(3 * time.Second))
	c.Write([]byte(msg))
	got, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if err != nil || got != msg {
		return fmt.Errorf("tcp: echo %q: %v", got, err)
	}
	u, err := net.Dial("udp", addr)
	if err != nil {
		return fmt.Errorf("udp: %v", err)
	}
	defer u.Close()
	buf := make([]byte, 64)
	for i := 0; i < 5; i++ {
		u.Write([]byte(msg))
		u.SetReadDeadline(time.Now().Add(time.Second))
		n, err := u.Read(buf)
		if err == nil && string(buf[:n]) == msg {
			return nil
		}
	}
	return fmt.Errorf("udp: no echo from %s", addr)
}
