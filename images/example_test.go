package images_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"

	"github.com/ntnu-ttm4200/lab3/images"
	"github.com/ntnu-ttm4200/lab3/runtime/docker"
)

// Ensure the lab's images before creating its containers; a second call
// finds them in the cache and builds nothing.
func ExampleEnsure() {
	d, err := docker.Connect(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()

	refs, err := images.Ensure(context.Background(), d, images.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("dnsserver image:", refs.DNS)
	fmt.Println("host image:", refs.Host)
}

// Remove the lab's outdated images, keeping the current ones and any that a
// container still uses.
func ExamplePrune() {
	ctx := context.Background()
	d, err := docker.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()

	refs, err := images.Ensure(ctx, d)
	if err != nil {
		log.Fatal(err)
	}
	removed, err := images.Prune(ctx, d, refs)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("removed", len(removed), "outdated images")
}
