package service

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestEnvironment(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.env"), []byte("FROM_FILE=1\nOVER=file\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.env"), []byte("FROM_GLOB=1\n"), 0o644)
	s := loadService(t, "ExecStart=/bin/true\n"+
		"Environment=OVER=setting KEEP=1 DROP=x\n"+
		"EnvironmentFile="+dir+"/a.env\n"+
		"EnvironmentFile=-"+dir+"/missing.env\n"+
		"EnvironmentFile="+dir+"/b*.env\n"+
		"PassEnvironment=LANG NOT_SET\n"+
		"UnsetEnvironment=DROP PATH=/remove")
	env, err := Environment(s, EnvSource{
		Manager:      []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "PATH=/remove", "OVER=manager"},
		Activation:   []string{"TRIGGER_UNIT=x.timer"},
		InvocationID: "0123456789abcdef0123456789abcdef",
		User:         &UserInfo{Name: "backup", Home: "/var/backups", Shell: "/usr/sbin/nologin"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"LANG=C.UTF-8", "OVER=file", "TRIGGER_UNIT=x.timer", "INVOCATION_ID=0123456789abcdef0123456789abcdef",
		"USER=backup", "LOGNAME=backup", "HOME=/var/backups", "SHELL=/usr/sbin/nologin", "KEEP=1", "FROM_FILE=1", "FROM_GLOB=1"}
	if !slices.Equal(env, want) {
		t.Errorf("Environment =\n  %q\nwant\n  %q", env, want)
	}

	s = loadService(t, "ExecStart=/bin/true\nEnvironmentFile="+dir+"/missing.env")
	if _, err := Environment(s, EnvSource{}); err == nil || ErrnoText(err) != "No such file or directory" {
		t.Errorf("missing file: %v", err)
	}
}

func TestStopPostEnv(t *testing.T) {
	for _, tc := range []struct {
		o    Outcome
		want []string
	}{
		{Outcome{Result: Success, Main: Exit{CodeExited, 0}}, []string{"SERVICE_RESULT=success", "EXIT_CODE=exited", "EXIT_STATUS=0"}},
		{Outcome{Result: Signal, Main: Exit{CodeKilled, 9}}, []string{"SERVICE_RESULT=signal", "EXIT_CODE=killed", "EXIT_STATUS=KILL"}},
		{Outcome{Result: ExitCode}, []string{"SERVICE_RESULT=exit-code"}},
	} {
		if got := StopPostEnv(tc.o); !slices.Equal(got, tc.want) {
			t.Errorf("StopPostEnv(%+v) = %q, want %q", tc.o, got, tc.want)
		}
	}
}
