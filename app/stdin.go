package app

import (
	"io"
	"os"
)

// stdinReader is where commands read passwords and data from; tests replace it.
var stdinReader io.Reader = os.Stdin
