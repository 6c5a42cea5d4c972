package unit

import (
	"errors"
	"strings"
)

// An errno is a C library error number, for the errors systemd reports
// by number: its text is strerror's, as systemd's %m prints it.
type errno int

// The errno values systemd's unit loading reports.
const (
	eNOENT       errno = 2
	eNOEXEC      errno = 8
	eNOMEM       errno = 12
	eEXIST       errno = 17
	eINVAL       errno = 22
	eRANGE       errno = 34
	eNAMETOOLONG errno = 36
	eNOPKG       errno = 65
	eBADMSG      errno = 74
	eNOBUFS      errno = 105
	eNXIO        errno = 6
	eNOTDIR      errno = 20
	eISDIR       errno = 21
	ePERM        errno = 1
	eACCES       errno = 13
	eUCLEAN      errno = 117
	eBADFD       errno = 77
	eBADRQC      errno = 56
	eNOTUNIQ     errno = 76

	// Those of specifiers.
	eSRCH     errno = 3
	eNOSYS    errno = 38
	eLOOP     errno = 40
	eUNATCH   errno = 49
	eBADSLT   errno = 57
	eNOMEDIUM errno = 123
)

var errnoTexts = map[errno]string{
	eNOENT:       "No such file or directory",
	eNOEXEC:      "Exec format error",
	eNOMEM:       "Cannot allocate memory",
	eEXIST:       "File exists",
	eINVAL:       "Invalid argument",
	eRANGE:       "Numerical result out of range",
	eNAMETOOLONG: "File name too long",
	eNOPKG:       "Package not installed",
	eBADMSG:      "Bad message",
	eNOBUFS:      "No buffer space available",
	eNXIO:        "No such device or address",
	eNOTDIR:      "Not a directory",
	eISDIR:       "Is a directory",
	ePERM:        "Operation not permitted",
	eACCES:       "Permission denied",
	eUCLEAN:      "Structure needs cleaning",
	eBADFD:       "File descriptor in bad state",
	eBADRQC:      "Invalid request code",
	eNOTUNIQ:     "Name not unique on network",
	eSRCH:        "No such process",
	eNOSYS:       "Function not implemented",
	eLOOP:        "Too many levels of symbolic links",
	eUNATCH:      "Protocol driver not attached",
	eBADSLT:      "Invalid slot",
	eNOMEDIUM:    "No medium found",
}

func (e errno) Error() string {
	if s, ok := errnoTexts[e]; ok {
		return s
	}
	return "Unknown error"
}

// strerror returns the text systemd's %m prints for err: strerror's text
// for the errors that stand for an errno, err's own text for others.
func strerror(err error) string {
	var e errno
	switch {
	case errors.As(err, &e):
		return e.Error()
	case errors.Is(err, ErrInvalid):
		return eINVAL.Error()
	case errors.Is(err, ErrBadMessage):
		return eBADMSG.Error()
	case errors.Is(err, ErrTooLong):
		return eNOBUFS.Error()
	}
	if e, _, ok := sysErrno(err); ok {
		// Go's texts are the C library's, less the capital.
		s := e.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}
