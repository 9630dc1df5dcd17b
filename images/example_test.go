package images_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/moby/moby/client"
	"github.com/ntnu-ttm4200/lab3/images"
)

// Ensure the lab's images before creating its containers; a second call
// finds them in the cache and builds nothing.
func ExampleEnsure() {
	cli, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()

	refs, err := images.Ensure(context.Background(), cli, images.WithProgress(os.Stderr))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("dnsserver image:", refs.DNS)
	fmt.Println("host image:", refs.Host)
}

// Remove the lab's outdated images, keeping the current ones and any that a
// container still uses.
func ExamplePrune() {
	cli, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()

	ctx := context.Background()
	refs, err := images.Ensure(ctx, cli)
	if err != nil {
		log.Fatal(err)
	}
	removed, err := images.Prune(ctx, cli, refs)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("removed", len(removed), "outdated images")
}
