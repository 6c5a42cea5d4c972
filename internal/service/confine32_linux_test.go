package service

import (
	"cmp"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// elf386 is a static i386 program of the code, which a kernel of
// x86-64 with its 32-bit emulation runs: its system calls are of the
// secondary architecture, which the filters cover too.
func elf386(code []byte) []byte {
	const base, ehsize, phsize = 0x08048000, 52, 32
	le := binary.LittleEndian
	b := []byte{0x7f, 'E', 'L', 'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	b = le.AppendUint16(b, 2) // ET_EXEC
	b = le.AppendUint16(b, 3) // EM_386
	b = le.AppendUint32(b, 1)
	b = le.AppendUint32(b, base+ehsize+phsize) // entry
	b = le.AppendUint32(b, ehsize)             // program headers
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, ehsize)
	b = le.AppendUint16(b, phsize)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 0)
	size := uint32(ehsize + phsize + len(code))
	for _, v := range []uint32{1 /* PT_LOAD */, 0, base, base, size, size, 5 /* R+X */, 0x1000} {
		b = le.AppendUint32(b, v)
	}
	return append(b, code...)
}

// exit386 is the end of a program of elf386: it exits 0 if the call
// before succeeded (%eax is not an error), else 1.
var exit386 = []byte{
	0x31, 0xdb, // xor %ebx, %ebx
	0x3d, 0x01, 0xf0, 0xff, 0xff, // cmp $-4095, %eax
	0x72, 0x01, // jb +1
	0x43,                         // inc %ebx
	0xb8, 0x01, 0x00, 0x00, 0x00, // mov $1 (exit), %eax
	0xcd, 0x80, // int $0x80
}

// socketcall386 makes a socket of AF_INET by socketcall().
var socketcall386 = []byte{
	0x6a, 0x00, // push $0 (protocol)
	0x6a, 0x01, // push $1 (SOCK_STREAM)
	0x6a, 0x02, // push $2 (AF_INET)
	0x89, 0xe1, // mov %esp, %ecx
	0xbb, 0x01, 0x00, 0x00, 0x00, // mov $1 (SYS_SOCKET), %ebx
	0xb8, 0x66, 0x00, 0x00, 0x00, // mov $102 (socketcall), %eax
	0xcd, 0x80, // int $0x80
}

// TestConfined386 runs i386 programs under the filters, which must hold
// there as they do for the native calls.
func TestConfined386(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the programs are of the secondary architecture of x86-64")
	}
	for _, tc := range []struct {
		name, text string
		code       []byte
		want       string // "refused" if empty
	}{
		// A call of i386 is killed where only the native ones are
		// allowed; the native ones always are, as systemd keeps them.
		{"i386 not allowed", "SystemCallArchitectures=native", []byte{0x31, 0xc0}, ""},
		{"i386 allowed", "SystemCallArchitectures=x86", []byte{0x31, 0xc0}, "allowed"},
		// The old mmap() of i386 takes its arguments in a structure
		// out of the filter's reach.
		{"old mmap writable and executable", "MemoryDenyWriteExecute=yes", []byte{
			0x6a, 0x00, // push $0 (offset)
			0x6a, 0xff, // push $-1 (fd)
			0x6a, 0x22, // push $0x22 (MAP_PRIVATE|MAP_ANONYMOUS)
			0x6a, 0x07, // push $7 (PROT_READ|PROT_WRITE|PROT_EXEC)
			0x68, 0x00, 0x10, 0x00, 0x00, // push $4096
			0x6a, 0x00, // push $0 (addr)
			0x89, 0xe3, // mov %esp, %ebx
			0xb8, 0x5a, 0x00, 0x00, 0x00, // mov $90 (mmap), %eax
			0xcd, 0x80, // int $0x80
		}, ""},
		// ipc() of i386 makes the calls of shmat().
		{"ipc shmat executable", "MemoryDenyWriteExecute=yes", []byte{
			0xb8, 0x75, 0x00, 0x00, 0x00, // mov $117 (ipc), %eax
			0xbb, 0x17, 0x00, 0x00, 0x00, // mov $23 (SHMGET), %ebx
			0x31, 0xc9, // xor %ecx, %ecx (IPC_PRIVATE)
			0xba, 0x00, 0x10, 0x00, 0x00, // mov $4096, %edx
			0xbe, 0x80, 0x03, 0x00, 0x00, // mov $01600 (IPC_CREAT|0600), %esi
			0xcd, 0x80, // int $0x80
			0x89, 0xc5, // mov %eax, %ebp (the segment)
			0x89, 0xc1, // mov %eax, %ecx
			0xb8, 0x75, 0x00, 0x00, 0x00, // mov $117 (ipc), %eax
			0xbb, 0x15, 0x00, 0x00, 0x00, // mov $21 (SHMAT), %ebx
			0xba, 0x00, 0x80, 0x00, 0x00, // mov $0100000 (SHM_EXEC), %edx
			0x6a, 0x00, // push $0
			0x89, 0xe6, // mov %esp, %esi (where the address goes)
			0x31, 0xff, // xor %edi, %edi
			0xcd, 0x80, // int $0x80
			0x89, 0xc7, // mov %eax, %edi (the result)
			0xb8, 0x75, 0x00, 0x00, 0x00, // mov $117 (ipc), %eax
			0xbb, 0x18, 0x00, 0x00, 0x00, // mov $24 (SHMCTL), %ebx
			0x89, 0xe9, // mov %ebp, %ecx
			0x31, 0xd2, // xor %edx, %edx (IPC_RMID)
			0x31, 0xf6, // xor %esi, %esi
			0xcd, 0x80, // int $0x80
			0x89, 0xf8, // mov %edi, %eax
		}, ""},
		// socketcall() takes the family in memory too.
		{"socketcall socket of a family denied", "RestrictAddressFamilies=~AF_INET", socketcall386, ""},
		{"socketcall socket of a family not allowed", "RestrictAddressFamilies=AF_UNIX", socketcall386, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog := filepath.Join(t.TempDir(), "prog")
			if err := os.WriteFile(prog, elf386(append(tc.code, exit386...)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := exec.Command(prog).Run(); err != nil {
				t.Skipf("the i386 program does not succeed unconfined: %v", err)
			}
			lines, out, logs, _ := runConfined(t, tc.text+"\nExecStart=/bin/sh -c 'exec 2>/dev/null; "+prog+" && echo allowed || echo refused'", nil, nil)
			if out.Result != Success {
				t.Errorf("result %s; logs %q", out.Result, logs)
			}
			want := cmp.Or(tc.want, "refused")
			checkList(t, "lines", lines, []string{want})
		})
	}
}
