package gong

import (
	"fmt"
	"os"
	"syscall"
)

// OpenSecret opens a NAME_FILE for CredentialsFromEnv: only a regular file
// (a mounted Secret is one, through its symlinks). It opens without
// blocking and checks the file it got, so a FIFO, which would block the
// open until a writer came (SIGTERM could not stop it), or a device, is
// refused at once, and nothing can swap the file between the check and the
// read.
func OpenSecret(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file (%s): it must be a file that holds the value, such as a mounted Secret", path, kind(fi.Mode()))
	}
	return f, nil
}

// kind names a file mode that is not a regular file's.
func kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return m.Type().String()
}
