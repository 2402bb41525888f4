package app

import "os"

var stdin = os.Stdin
