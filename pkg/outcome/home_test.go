package outcome_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/flowenroll/flowenroll/pkg/outcome"
)

// TestOneHome fails when a package outside outcome declares a failure code,
// a reason, an exit code or a result file's list of columns of its own, or
// compares with a code spelt out (case "MissingValue", == "BlankRow"): a
// copy is a fork waiting to drift (the docs explain outcome's codes only).
//
// pkg/emulator is left out on purpose: it stands in for Gong, and its
// vocabulary (Gong's error codes, Gong's JSON names) is Gong's, written from
// Gong's spec and not shared with the client, so that a client bug cannot
// hide behind a shared constant.
func TestOneHome(t *testing.T) {
	words := map[string]bool{} // every code and reason outcome declares
	for _, e := range append(outcome.Explanations(), outcome.UndoExplanations()...) {
		words[e.Code] = true
	}
	columns := map[string]bool{}
	for _, cols := range [][]string{outcome.AssignedColumns(), outcome.FailedColumns(), outcome.UnprocessedColumns(),
		outcome.UndoneColumns(), outcome.UndoFailedColumns(), outcome.VerifyColumns()} {
		for _, c := range cols {
			columns[c] = true
		}
	}
	exitName := regexp.MustCompile(`^[Ee]xit[A-Z]`)
	codeName := regexp.MustCompile(`^(Code|Reason)[A-Z]`)
	var strays []string
	for _, root := range []string{"../../pkg", "../../cmd"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "outcome" || d.Name() == "emulator" || d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			strays = append(strays, straysIn(t, path, words, columns, exitName, codeName)...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range strays {
		t.Error(s)
	}
}

// straysIn lists the declarations of path that copy what outcome holds.
func straysIn(t *testing.T, path string, words, columns map[string]bool, exitName, codeName *regexp.Regexp) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ValueSpec:
			for i, name := range n.Names {
				if i >= len(n.Values) {
					continue
				}
				lit, ok := n.Values[i].(*ast.BasicLit)
				if !ok {
					continue
				}
				switch {
				case lit.Kind == token.INT && exitName.MatchString(name.Name):
					out = append(out, fset.Position(name.Pos()).String()+": exit code "+name.Name+" declared outside outcome (use outcome.Exit*)")
				case lit.Kind == token.STRING && codeName.MatchString(name.Name):
					out = append(out, fset.Position(name.Pos()).String()+": "+name.Name+" declared outside outcome (use outcome.Code* / outcome.Reason*)")
				case lit.Kind == token.STRING && words[unquote(lit.Value)]:
					out = append(out, fset.Position(name.Pos()).String()+": "+name.Name+" copies outcome's code or reason "+lit.Value)
				}
			}
		case *ast.CaseClause:
			// case "MissingValue": a code compared by its spelling.
			for _, e := range n.List {
				if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING && words[unquote(lit.Value)] {
					out = append(out, fset.Position(lit.Pos()).String()+": case "+lit.Value+" spells outcome's code or reason (use outcome.Code* / outcome.Reason*)")
				}
			}
		case *ast.BinaryExpr:
			if n.Op != token.EQL && n.Op != token.NEQ {
				return true
			}
			for _, e := range []ast.Expr{n.X, n.Y} {
				if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING && words[unquote(lit.Value)] {
					out = append(out, fset.Position(lit.Pos()).String()+": compared with "+lit.Value+", outcome's code or reason spelt out (use outcome.Code* / outcome.Reason*)")
				}
			}
		case *ast.CompositeLit:
			// A list of three or more result columns written out: a copy of
			// a result file's header.
			var found []string
			for _, el := range n.Elts {
				if lit, ok := el.(*ast.BasicLit); ok && lit.Kind == token.STRING && columns[unquote(lit.Value)] {
					found = append(found, unquote(lit.Value))
				}
			}
			if len(found) >= 3 && slices.Contains(found, outcome.ColLine) {
				out = append(out, fset.Position(n.Pos()).String()+": a result file's columns written out ("+strings.Join(found, ", ")+"); use outcome's *Columns")
			}
		}
		return true
	})
	return out
}

func unquote(s string) string {
	u, err := strconv.Unquote(s)
	if err != nil {
		return s
	}
	return u
}
