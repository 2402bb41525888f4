// Command dtbase runs the dtbase server and its tools; see 'dtbase help'.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/dtbase/dtbase/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.NewMain().Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
