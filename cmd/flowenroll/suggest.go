package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/flowenroll/flowenroll/pkg/similar"
)

// distance is the edit distance of a and b, case-insensitive.
func distance(a, b string) int {
	return similar.Distance([]rune(strings.ToLower(a)), []rune(strings.ToLower(b)))
}

// nearest returns the candidates within a distance of at most a third of
// want's length (at least 2), nearest first.
func nearest(want string, candidates []string) []string {
	limit := max(2, len(want)/3)
	var out []string
	for d := 0; d <= limit; d++ {
		for _, c := range candidates {
			if distance(want, c) == d {
				out = append(out, c)
			}
		}
	}
	return out
}

// parseError words a flag the command does not know: which command, the
// nearest flag it has, and where that command's flags are listed.
func parseError(err error, cmds []*ffcli.Command, args []string) error {
	const undefined = "flag provided but not defined: -"
	msg := err.Error()
	i := strings.Index(msg, undefined)
	if i < 0 || len(args) == 0 {
		return &usageError{msg}
	}
	cmd := find(cmds, args[0])
	if cmd == nil {
		return &usageError{msg + " (flowenroll --help lists the commands)"}
	}
	name := strings.TrimPrefix(msg[i+len(undefined):], "-")
	var flags []string
	cmd.FlagSet.VisitAll(func(f *flag.Flag) { flags = append(flags, f.Name) })
	hint := ""
	if near := nearest(name, flags); len(near) > 0 {
		hint = fmt.Sprintf(": did you mean --%s?", near[0])
	}
	return usagef("%s: unknown flag --%s%s (flowenroll %s --help lists its flags)", cmd.Name, name, hint, cmd.Name)
}

func suggestCommand(cmds []*ffcli.Command, name string) string {
	var names []string
	for _, c := range cmds {
		names = append(names, c.Name)
	}
	if near := nearest(name, names); len(near) > 0 {
		return fmt.Sprintf(": did you mean %q? (flowenroll --help lists the commands)", near[0])
	}
	return ": the commands are " + strings.Join(names, ", ")
}

// warnUnknownEnv warns of FLOWENROLL_* variables that set no flag of any
// command: a misspelled one would otherwise be ignored in silence.
func warnUnknownEnv(environ []string, cmds []*ffcli.Command, stderr io.Writer) {
	known := map[string]bool{"FLOWENROLL_USERS_FILE": true, "FLOWENROLL_CHROMIUM": true, "FLOWENROLL_NOTIFY_FILE": true}
	var names []string
	for _, c := range cmds {
		if c.FlagSet == nil {
			continue
		}
		c.FlagSet.VisitAll(func(f *flag.Flag) {
			n := "FLOWENROLL_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
			known[n] = true
			names = append(names, n)
		})
	}
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "FLOWENROLL_") || known[k] {
			continue
		}
		msg := fmt.Sprintf("flowenroll: warning: %s sets no flag and is ignored", k)
		if near := nearest(k, names); len(near) > 0 {
			msg += fmt.Sprintf("; did you mean %s?", near[0])
		}
		fmt.Fprintln(stderr, msg)
	}
}
