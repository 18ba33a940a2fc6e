package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
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

// gongEnv are the GONG_* variables flowenroll reads.
func gongEnv() []string {
	return []string{"GONG_ACCESS_KEY", "GONG_ACCESS_KEY_SECRET", "GONG_BEARER_TOKEN",
		"GONG_ACCESS_KEY_FILE", "GONG_ACCESS_KEY_SECRET_FILE", "GONG_BEARER_TOKEN_FILE", "GONG_BASE_URL"}
}

// envName is the variable that sets flag f.
func envName(f string) string {
	return "FLOWENROLL_" + strings.ToUpper(strings.ReplaceAll(f, "-", "_"))
}

// flagEnv maps each FLOWENROLL_* variable of c's flags to its flag.
func flagEnv(c *ffcli.Command) map[string]string {
	m := map[string]string{}
	if c != nil && c.FlagSet != nil {
		c.FlagSet.VisitAll(func(f *flag.Flag) { m[envName(f.Name)] = f.Name })
	}
	return m
}

// warnUnknownEnv warns of FLOWENROLL_* variables that set no flag of the
// command run (cmd; nil: of any command), and of GONG_* variables that
// flowenroll does not read: a misspelled one, or one of another command
// (FLOWENROLL_DRY_RUN is undo's: run would send), would otherwise be
// ignored in silence.
func warnUnknownEnv(environ []string, cmd *ffcli.Command, all []*ffcli.Command, stderr io.Writer) {
	known := map[string]string{}
	for _, c := range all {
		if cmd == nil || c == cmd {
			maps.Copy(known, flagEnv(c))
		}
	}
	names := slices.Sorted(maps.Keys(known))
	// Read by the commands themselves, not through a flag.
	names = append(names, "FLOWENROLL_USERS_FILE", "FLOWENROLL_CHROMIUM", "FLOWENROLL_NOTIFY", "FLOWENROLL_NOTIFY_FILE")
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		var msg string
		switch {
		case strings.HasPrefix(k, "FLOWENROLL_") && !slices.Contains(names, k):
			msg = fmt.Sprintf("flowenroll: warning: %s sets no flag%s and is ignored%s", k, ofCommand(cmd), didYouMean(k, names))
			if other := otherCommands(k, cmd, all); other != "" {
				msg = fmt.Sprintf("flowenroll: warning: %s sets a flag of %s, not of %s, and is ignored by %s", k, other, cmd.Name, cmd.Name)
			}
		case strings.HasPrefix(k, "GONG_") && !slices.Contains(gongEnv(), k):
			msg = fmt.Sprintf("flowenroll: warning: %s is not a variable flowenroll reads and is ignored%s", k, didYouMean(k, gongEnv()))
		default:
			continue
		}
		fmt.Fprintln(stderr, msg)
	}
}

func ofCommand(cmd *ffcli.Command) string {
	if cmd == nil {
		return ""
	}
	return " of " + cmd.Name
}

func didYouMean(k string, names []string) string {
	if near := nearest(k, names); len(near) > 0 {
		return fmt.Sprintf("; did you mean %s?", near[0])
	}
	return ""
}

// otherCommands names the commands other than cmd that have the flag k
// sets, or "".
func otherCommands(k string, cmd *ffcli.Command, all []*ffcli.Command) string {
	if cmd == nil {
		return ""
	}
	var in []string
	for _, c := range all {
		if _, ok := flagEnv(c)[k]; ok && c != cmd {
			in = append(in, c.Name)
		}
	}
	return strings.Join(in, ", ")
}
