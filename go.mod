module sundial.dev/sundial

go 1.26

require (
	github.com/spf13/pflag v1.1.0
	golang.org/x/sys v0.26.0
)

// Test dependencies.
require github.com/rogpeppe/go-internal v1.16.0

require golang.org/x/tools v0.26.0 // indirect
