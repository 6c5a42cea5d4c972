//go:build !linux

package service

// The capabilities, secure bits and no_new_privs are Linux's, named as
// not honoured elsewhere.
func (s *helperSetup) beforeUser() *setupError { return nil }
func (s *helperSetup) afterUser() *setupError  { return nil }
func (s *helperSetup) lockDown() *setupError   { return nil }

// assembleSeccomp has nothing to assemble here.
func assembleSeccomp(Command) ([][]byte, *setupError) { return nil, nil }
