package tenantdb

// SetCopyChunkRows sets the most rows of one INSERT of a bulk insert (a
// power of two), for the benchmark that compares sizes; it returns the
// previous size.
func SetCopyChunkRows(n int) int {
	old := copyChunkRows
	copyChunkRows = n
	return old
}
