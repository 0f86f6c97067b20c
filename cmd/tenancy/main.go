package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

// Exit statuses.
const (
	exitOK       = 0
	exitFailure  = 1 // the command failed, or found error-level problems
	exitUsage    = 2
	helpOverview = "tenancy is the command-line tool of the tenant-isolation SDK."
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// env is what a command may use of the process, so tests can run commands
// in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// command is a node of the command tree: either a group with subcommands or
// a leaf that runs.
type command struct {
	name  string
	short string // one line for the parent's list
	usage string // synopsis, examples and notes, shown by -h
	sub   []*command
	// run executes a leaf. It returns an error made by usageError for bad
	// usage (exit 2), errFindings when it reported problems (exit 1), or
	// any other error (printed, exit 1).
	run func(ctx context.Context, args []string, e env) error
}

// commands returns the command tree. Add a subcommand by appending its
// *command here.
func commands() *command {
	return &command{
		name:  "tenancy",
		short: helpOverview,
		sub: []*command{
			rlsCommand(),
			auditCommand(),
			tenantCommand(),
		},
	}
}

// errFindings is returned by a command that printed its report and must
// exit with status 1.
var errFindings = errors.New("error-level findings")

type usageErr struct{ msg string }

func (e usageErr) Error() string { return e.msg }

func usageError(format string, args ...any) error { return usageErr{fmt.Sprintf(format, args...)} }

func run(ctx context.Context, args []string, e env) int {
	return dispatch(ctx, commands(), nil, args, e)
}

func dispatch(ctx context.Context, c *command, path []string, args []string, e env) int {
	path = append(path, c.name)
	if c.run != nil {
		err := c.run(ctx, args, e)
		var ue usageErr
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.As(err, &ue):
			fmt.Fprintf(e.stderr, "%s: %s\nRun '%s -h' for help.\n", strings.Join(path, " "), ue.msg, strings.Join(path, " "))
			return exitUsage
		case errors.Is(err, errFindings):
			return exitFailure
		default:
			fmt.Fprintf(e.stderr, "%s: %v\n", strings.Join(path, " "), err)
			return exitFailure
		}
	}
	if len(args) == 0 {
		groupHelp(e.stderr, c, path)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		groupHelp(e.stdout, c, path)
		return exitOK
	}
	for _, s := range c.sub {
		if s.name == args[0] {
			return dispatch(ctx, s, path, args[1:], e)
		}
	}
	fmt.Fprintf(e.stderr, "%s: unknown command %q\n\n", strings.Join(path, " "), args[0])
	groupHelp(e.stderr, c, path)
	return exitUsage
}

func groupHelp(w io.Writer, c *command, path []string) {
	fmt.Fprintf(w, "%s\n\nUsage:\n\n  %s <command> [arguments]\n\nCommands:\n\n", c.short, strings.Join(path, " "))
	for _, s := range c.sub {
		fmt.Fprintf(w, "  %-10s %s\n", s.name, s.short)
	}
	fmt.Fprintf(w, "\nRun '%s <command> -h' for a command's help.\n", strings.Join(path, " "))
}

// newFlags returns a FlagSet for a leaf command whose -h prints c.usage
// and the flags to e.stdout.
func newFlags(c *command, path string, e env) *flag.FlagSet {
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fs.SetOutput(e.stdout)
		fmt.Fprintf(e.stdout, "%s\n\nFlags:\n", strings.TrimSpace(c.usage))
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning flag errors into usage errors and
// refusing positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError("%v", err)
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}
