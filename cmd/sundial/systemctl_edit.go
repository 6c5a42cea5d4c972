package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/mattn/go-isatty"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/unit"
)

// The markers of the drop-in systemctl edit shows, as systemctl-edit.c
// has them.
const (
	editMarkerStart = "### Anything between here and the comment below will become the contents of the drop-in file"
	editMarkerEnd   = "### Edits below this comment will be discarded"
)

// An editFile is a file edit writes, as edit-util.c's EditFile: its
// path, the file it starts from (--full), the files shown commented
// below the drop-in, and the temporary copy the editor edits.
type editFile struct {
	path, original string
	comments       []string
	temp           string
	line           int
}

// editVerb is systemctl edit, as verb_edit: a drop-in override.conf of
// each unit, or with --full a copy of its file, in the configuration
// directory (with --runtime, the runtime one), written through an
// editor, then the daemon reloaded.
func editVerb(c *cli, o *systemctlOptions, _ string, patterns []string) int {
	if !isatty.IsTerminal(os.Stdout.Fd()) || !isatty.IsTerminal(os.Stderr.Fd()) {
		c.errorf("Cannot edit units if not on a tty.")
		return 1
	}
	ctx := context.Background()
	client := o.client()
	names, err := expand(ctx, client, o.mangle(c, "", patterns))
	if err != nil {
		return o.failed(c, client, "expand names", err)
	}
	if len(names) == 0 {
		c.errorf("No units matched the specified patterns.")
		return 1
	}
	dirs, err := client.ConfigDirs(ctx)
	if err != nil {
		return o.failed(c, client, "get the configuration directories", err)
	}
	units, err := editUnits(ctx, client, names)
	if err != nil {
		return o.failed(c, client, "get units", err)
	}
	for _, u := range units {
		if u.Load == "masked" {
			c.errorf("Cannot edit %s: unit is masked.", u.Name)
			return 1
		}
	}
	files, ok := o.filesToEdit(c, dirs, units)
	if !ok {
		return 1
	}
	defer func() {
		for _, f := range files {
			if f.temp != "" {
				os.Remove(f.temp)
			}
			if !o.full {
				// As remove_parent: the drop-in directory made for nothing.
				os.Remove(filepath.Dir(f.path))
			}
		}
	}()
	for i := range files {
		if err := createEditTemp(&files[i]); err != nil {
			c.errorf("%v", err)
			return 1
		}
	}
	if !runEditor(c, files) {
		return 1
	}
	for i := range files {
		if err := installEdit(c, &files[i]); err != nil {
			c.errorf("%v", err)
			return 1
		}
	}
	if !o.noReload {
		if err := client.Reload(ctx); err != nil {
			return o.failed(c, client, "reload daemon", err)
		}
	}
	return 0
}

// editUnits are the units to edit: a template's files found as the
// daemon finds them for cat, as unit_find_paths looks a template up in
// the search path rather than asking the manager, which loads no
// template.
func editUnits(ctx context.Context, client *api.Client, names []string) ([]api.Unit, error) {
	var units []api.Unit
	for _, name := range names {
		if n, err := unit.ParseName(name); err != nil || !n.Template {
			loaded, err := client.Units(ctx, []string{name}, false)
			if err != nil {
				return nil, err
			}
			units = append(units, loaded...)
			continue
		}
		files, err := client.UnitFiles(ctx, name)
		if err != nil {
			return nil, err
		}
		u := api.Unit{Name: name, Load: "not-found"}
		for _, f := range files {
			switch {
			case strings.HasSuffix(filepath.Dir(f[0]), ".d"):
				u.DropIns = append(u.DropIns, f[0])
			case f[0] == os.DevNull:
				u.Load = "masked"
			default:
				u.Load, u.FragmentPath = "loaded", f[0]
			}
		}
		units = append(units, u)
	}
	return units, nil
}

// filesToEdit finds what to edit of each unit, as find_paths_to_edit.
func (o *systemctlOptions) filesToEdit(c *cli, dirs api.ConfigDirs, units []api.Unit) ([]editFile, bool) {
	var files []editFile
	add := func(f editFile) {
		if !slices.ContainsFunc(files, func(g editFile) bool { return g.path == f.path }) {
			files = append(files, f)
		}
	}
	for _, u := range units {
		if u.FragmentPath == "" {
			if !o.force {
				scope := ""
				if o.user {
					scope = " --user"
				}
				c.errorf("Run 'systemctl edit%s --force --full %s' to create a new unit.", scope, u.Name)
				return nil, false
			}
			name := u.Name
			if !o.full {
				name += ".d/override.conf"
			}
			p, ok := o.fileToEdit(c, dirs, name)
			if !ok {
				return nil, false
			}
			add(editFile{path: p, line: 1})
			continue
		}
		name := filepath.Base(u.FragmentPath)
		if o.full {
			p, ok := o.fileToEdit(c, dirs, name)
			if !ok {
				return nil, false
			}
			if _, err := os.Stat(p); err == nil && p != u.FragmentPath && !askOverwrite(c, p, u.FragmentPath) {
				c.errorf("%s skipped.", name)
				return nil, false
			}
			add(editFile{path: p, original: u.FragmentPath, line: 1})
			continue
		}
		// The drop-in of an instance is the instance's, not its
		// template's, as find_paths_to_edit propagates the instance.
		if n, err := unit.ParseName(u.Name); err == nil && n.Instance != "" {
			if f, err := unit.ParseName(name); err == nil && f.Template {
				name = strings.Replace(name, "@", "@"+n.Instance, 1)
			}
		}
		p, ok := o.fileToEdit(c, dirs, name+".d/override.conf")
		if !ok {
			return nil, false
		}
		add(editFile{path: p, comments: append([]string{u.FragmentPath}, u.DropIns...), line: 1})
	}
	return files, true
}

// fileToEdit is where edit writes a file of the name, as
// get_file_to_edit: in the configuration directory, or with --runtime
// in the runtime one, unless the configuration's would override it.
func (o *systemctlOptions) fileToEdit(c *cli, dirs api.ConfigDirs, name string) (string, bool) {
	p := filepath.Join(dirs.Config, name)
	if !o.runtime {
		return p, true
	}
	if dirs.Runtime == "" {
		c.errorf("The daemon's search path has no runtime directory (it was given with --unit-path=); use the configuration directory.")
		return "", false
	}
	run := filepath.Join(dirs.Runtime, name)
	if _, err := os.Stat(p); err == nil {
		c.errorf("Refusing to create \"%s\" because it would be overridden by \"%s\" anyway.", run, p)
		return "", false
	}
	return run, true
}

// askOverwrite asks whether a file in the way of --full is to be
// overwritten, as ask_char does.
func askOverwrite(c *cli, path, fragment string) bool {
	in := bufio.NewReader(os.Stdin)
	for {
		fmt.Fprintf(c.stdout, "\"%s\" already exists. Overwrite with \"%s\"? [(y)es, (n)o] ", path, fragment)
		line, err := in.ReadString('\n')
		switch strings.TrimSpace(line) {
		case "y":
			return true
		case "n":
			return false
		}
		if err != nil {
			return false
		}
	}
}

// createEditTemp makes the copy the editor edits, as
// create_edit_temp_file and populate_edit_temp_file: for a drop-in, its
// contents between the markers and the unit's files commented below; for
// --full, the unit's file.
func createEditTemp(f *editFile) error {
	if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
		return fmt.Errorf("Failed to create parent directories for '%s': %v", f.path, err)
	}
	source := ""
	if _, err := os.Stat(f.original); f.original != "" && err == nil {
		if _, err := os.Stat(f.path); err != nil {
			source = f.original
		}
	}
	if _, err := os.Stat(f.path); source == "" && err == nil {
		source = f.path
	}
	var text []byte
	if source != "" {
		var err error
		if text, err = os.ReadFile(source); err != nil {
			return fmt.Errorf("Failed to read source file '%s': %v", source, err)
		}
	}
	var b strings.Builder
	if f.comments != nil {
		fmt.Fprintf(&b, "### Editing %s\n%s\n\n%s", f.path, editMarkerStart, text)
		if !strings.HasSuffix(string(text), "\n") {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "\n%s\n", editMarkerEnd)
		f.line = 4
		for _, p := range f.comments {
			if p == f.path || p == source {
				continue
			}
			comment, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("Failed to read comment file '%s': %v", p, err)
			}
			fmt.Fprintf(&b, "\n\n### %s", p)
			if c := strings.TrimSpace(string(comment)); c != "" {
				fmt.Fprintf(&b, "\n# %s", strings.ReplaceAll(c, "\n", "\n# "))
			}
		}
	} else {
		b.Write(text)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), ".#"+filepath.Base(f.path)+"*")
	if err != nil {
		return fmt.Errorf("Failed to create temporary file for '%s': %v", f.path, err)
	}
	f.temp = tmp.Name()
	_, err = tmp.WriteString(b.String())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.temp, 0o644)
	}
	if err != nil {
		return fmt.Errorf("Failed to write to temporary file '%s': %v", f.temp, err)
	}
	return nil
}

// runEditor runs the editor on the copies, as run_editor_child:
// $SYSTEMD_EDITOR, $EDITOR or $VISUAL, split at white space, else the
// first of editor, nano, vim and vi found. It reports whether the
// editor exited 0: as run_editor's safe_fork with FORK_WAIT, an editor
// that fails, or none found, cancels the edit, saying how.
func runEditor(c *cli, files []editFile) bool {
	var args []string
	if len(files) == 1 && files[0].line > 1 {
		args = append(args, fmt.Sprintf("+%d", files[0].line))
	}
	for _, f := range files {
		args = append(args, f.temp)
	}
	// run reports whether argv[0] was found, ok whether it exited 0.
	ok := true
	run := func(argv []string) bool {
		path, err := exec.LookPath(argv[0])
		if err != nil {
			return false
		}
		cmd := exec.Command(path, argv[1:]...)
		cmd.Args[0] = argv[0]
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		ok = editorExited(c, cmd.Run())
		return true
	}
	for _, name := range []string{"SYSTEMD_EDITOR", "EDITOR", "VISUAL"} {
		if editor := strings.Fields(os.Getenv(name)); len(editor) > 0 {
			if run(append(editor, args...)) {
				return ok
			}
			c.errorf("Specified editor '%s' not available, trying fallbacks: No such file or directory", editor[0])
			break
		}
	}
	for _, name := range []string{"editor", "nano", "vim", "vi"} {
		if run(append([]string{name}, args...)) {
			return ok
		}
	}
	c.errorf("Cannot edit files, no editor available. Please set either $SYSTEMD_EDITOR, $EDITOR or $VISUAL.")
	// run_editor's child that found none exits 1.
	c.errorf("(editor) failed with exit status 1.")
	return false
}

// editorExited tells how the editor ended, as wait_for_terminate_and_check
// logs it for the process "(editor)", and reports whether it exited 0.
func editorExited(c *cli, err error) bool {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			c.errorf("(editor) terminated by signal %s.", unit.SignalName(int(ws.Signal())))
		} else {
			c.errorf("(editor) failed with exit status %d.", exit.ExitCode())
		}
	default:
		c.errorf("Failed to run the editor: %v", err)
	}
	return false
}

// installEdit puts what was edited in place, as edit_file_install_one:
// for a drop-in, what is between the markers, trimmed; nothing where
// that is empty.
func installEdit(c *cli, f *editFile) error {
	old, err := os.ReadFile(f.temp)
	if err != nil {
		return fmt.Errorf("Failed to read temporary file '%s': %v", f.temp, err)
	}
	text := string(old)
	if _, after, ok := strings.Cut(text, editMarkerStart); ok {
		text = after
	}
	text, _, _ = strings.Cut(text, editMarkerEnd)
	text = strings.TrimSpace(text)
	if text == "" {
		// As strip_edit_temp_file: edits only outside the markers are
		// pointed out.
		for _, line := range strings.Split(string(old), "\n") {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
				c.errorf("Found modifications outside of the staging area, which would be discarded.")
				break
			}
		}
		return nil
	}
	if err := os.WriteFile(f.temp, []byte(text+"\n"), 0o644); err != nil {
		return fmt.Errorf("Failed to strip temporary file '%s': %v", f.temp, err)
	}
	if err := os.Rename(f.temp, f.path); err != nil {
		return fmt.Errorf("Failed to rename temporary file '%s' to target file '%s': %v", f.temp, f.path, err)
	}
	f.temp = ""
	return nil
}
