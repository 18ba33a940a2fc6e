package console

import "syscall"

// volumeSpace returns the size of the volume holding dir and the bytes
// free on it for an unprivileged writer.
func volumeSpace(dir string) (size, free int64, ok bool) {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return 0, 0, false
	}
	return int64(st.Blocks) * st.Bsize, int64(st.Bavail) * st.Bsize, true
}
