package main

import (
	"flag"
	"io"
	"os"
	"sort"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"

	"github.com/flowenroll/flowenroll/pkg/input"
)

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// common are the flags of run and plan.
type common struct {
	input     string
	out       string
	chunkSize int
	maps      stringList
	logFormat string
	logLevel  string
	preflight bool
	encoding  string
	delimiter string
	crm       string
	flow      string
	owner     string
	ownerBy   string
	sheet     string
	headerRow int
	maxInput  int64
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.input, "input", "", "CSV file of prospects, or - for standard input")
	fs.StringVar(&c.out, "out", "", "directory for assigned.csv, failed.csv, unprocessed.csv, summary.json and the ledger")
	fs.IntVar(&c.chunkSize, "chunk-size", 200, "CRM IDs per request, 1 to 200")
	fs.Var(&c.maps, "map", "canonical=Header: read a column from a header the aliases do not know (repeatable)")
	fs.StringVar(&c.logFormat, "log-format", "auto", "auto, json or console; auto is console on a terminal, JSON otherwise")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.encoding, "encoding", "auto", "input encoding: auto, utf-8, utf-16le, utf-16be or windows-1252")
	fs.StringVar(&c.delimiter, "delimiter", "auto", "input delimiter: auto (sniffed from the header), ',', ';', tab or '|'")
	fs.StringVar(&c.crm, "crm", "", "salesforce: check crmProspectId as a Salesforce ID, extend 15-character IDs to 18")
	fs.StringVar(&c.flow, "flow", "", "ID|NAME: the flow of every row without a flow column, or with it blank")
	fs.StringVar(&c.owner, "owner", "", "EMAIL|NAME: the owner of every row without an owner column, or with it blank")
	fs.StringVar(&c.ownerBy, "owner-by", "auto", "the owner column holds: email, name (resolved through Gong's users), or auto (names when at least half the owner cells have no @)")
	fs.StringVar(&c.sheet, "sheet", "", "a workbook's sheet to read (default: the first, with a warning naming the other sheets with data; for flowenroll's results.xlsx, its failed and unprocessed sheets)")
	fs.IntVar(&c.headerRow, "header-row", 0, "the line (a sheet's row) the header is on, below title rows; 0 finds it: the first row naming the columns needed")
	fs.Int64Var(&c.maxInput, "max-input-bytes", 1<<30, "most bytes of standard input (or a pipe) to copy; more is refused")
	fs.BoolVar(&c.preflight, "preflight", true, "before sending, check through GET /v2/flows that each flow is visible to its owner")
}

// check validates the flags and returns the reading options.
func (c *common) check(inbox bool) (input.Options, error) {
	switch {
	case inbox && (c.input != "" || c.out != ""):
		return input.Options{}, usagef("--inbox takes the place of --input and --out; give one or the other")
	case !inbox && c.input == "":
		return input.Options{}, usagef("--input is required")
	}
	if c.chunkSize < 1 || c.chunkSize > 200 {
		return input.Options{}, usagef("--chunk-size must be 1 to 200, got %d", c.chunkSize)
	}
	switch c.logFormat {
	case "auto", "json", "console":
	default:
		return input.Options{}, usagef("--log-format must be auto, json or console, got %q", c.logFormat)
	}
	if _, err := zapcore.ParseLevel(c.logLevel); err != nil {
		return input.Options{}, usagef("--log-level: %v", err)
	}
	return c.options()
}

func (c *common) options() (input.Options, error) {
	m, err := input.ParseMap(c.maps)
	if err != nil {
		return input.Options{}, &usageError{err.Error()}
	}
	enc, err := input.ParseEncoding(c.encoding)
	if err != nil {
		return input.Options{}, &usageError{err.Error()}
	}
	delim, err := input.ParseDelimiter(c.delimiter)
	if err != nil {
		return input.Options{}, &usageError{err.Error()}
	}
	crm, err := input.ParseCRM(c.crm)
	if err != nil {
		return input.Options{}, &usageError{err.Error()}
	}
	switch c.ownerBy {
	case "auto", "email", "name":
	default:
		return input.Options{}, usagef("--owner-by must be auto, email or name, got %q", c.ownerBy)
	}
	if c.headerRow < 0 {
		return input.Options{}, usagef("--header-row must be 0 (found by itself) or a line number, got %d", c.headerRow)
	}
	if c.maxInput < 1 {
		return input.Options{}, usagef("--max-input-bytes must be at least 1, got %d", c.maxInput)
	}
	if c.flow != "" && strings.ContainsAny(c.flow, "\r\n") || c.owner != "" && strings.ContainsAny(c.owner, "\r\n") {
		return input.Options{}, usagef("--flow and --owner take one line")
	}
	return input.Options{Map: m, Encoding: enc, Delimiter: delim, CRM: crm, Flow: c.flow, Owner: c.owner, OwnerByName: c.ownerBy == "name", HeaderRow: c.headerRow}, nil
}

func newLogger(format, level string, stderr io.Writer) *zap.Logger {
	lvl, _ := zapcore.ParseLevel(level)
	if format == "auto" {
		format = "json"
		if isTerminal(stderr) {
			format = "console"
		}
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	var encoder zapcore.Encoder
	if format == "console" {
		enc.EncodeLevel = zapcore.CapitalColorLevelEncoder
		encoder = zapcore.NewConsoleEncoder(enc)
	} else {
		encoder = zapcore.NewJSONEncoder(enc)
	}
	return zap.New(zapcore.NewCore(encoder, zapcore.Lock(zapcore.AddSync(stderr)), lvl))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
