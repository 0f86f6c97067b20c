package web

import "net/url"

// pageLinks returns the addresses of a paged list's first page (when this
// page is a later one: cursor is not "") and of its next page (when next,
// the store's cursor of the next page, is not ""), each keeping the
// list's filters: those of filters that are not "".
func pageLinks(path string, filters map[string]string, cursor, next string) (firstURL, nextURL string) {
	keep := url.Values{}
	for k, v := range filters {
		if v != "" {
			keep.Set(k, v)
		}
	}
	if cursor != "" {
		firstURL = path
		if len(keep) > 0 {
			firstURL += "?" + keep.Encode()
		}
	}
	if next != "" {
		keep.Set("cursor", next)
		nextURL = path + "?" + keep.Encode()
	}
	return firstURL, nextURL
}
