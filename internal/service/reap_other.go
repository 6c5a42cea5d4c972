//go:build !linux

package service

import (
	"context"
	"errors"
)

// BecomeSubreaper fails here: there are no subreapers but on Linux.
func BecomeSubreaper() error { return errors.ErrUnsupported }

// Reap returns when ctx is done: orphans are init's here.
func Reap(ctx context.Context) { <-ctx.Done() }
