package dockerapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Image is what the engine says of an image.
type Image struct {
	ID     string `json:"Id"`
	Config *struct {
		// ExposedPorts are the ports the image declares ("5432/tcp").
		ExposedPorts map[string]struct{}
	}
}

// ImageInspect says what the engine knows of image (a reference or an
// ID); IsNotFound tells an image it lacks.
func (c *Client) ImageInspect(ctx context.Context, image string) (Image, error) {
	var img Image
	if !validRef(image) {
		return img, fmt.Errorf("image %q: not an image reference", image)
	}
	err := c.call(ctx, http.MethodGet, "/images/"+image+"/json", nil, nil, &img)
	return img, err
}

// validRef reports whether ref may be an image reference or ID: the
// characters references use, and no "." or ".." path segment (it goes
// into the request's path, slashes and all, as the Engine API wants).
func validRef(ref string) bool {
	if ref == "" {
		return false
	}
	for _, r := range ref {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/:@", r)) {
			return false
		}
	}
	for _, seg := range strings.Split(ref, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// ImagePull pulls image from its registry, ":latest" when the reference
// names no tag or digest, and returns once the engine has it.
func (c *Client) ImagePull(ctx context.Context, image string) error {
	resp, err := c.request(ctx, http.MethodPost, "/images/create", url.Values{"fromImage": {withTag(image)}}, nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return progress(resp.Body)
}

// withTag is image with ":latest" added when it names neither a tag nor a
// digest (a colon before the last slash is a registry's port).
func withTag(image string) string {
	last := image[strings.LastIndex(image, "/")+1:]
	if strings.Contains(last, ":") || strings.Contains(image, "@") {
		return image
	}
	return image + ":latest"
}

// ImageImport makes an image named ref from a tar of its file system,
// with changes (Dockerfile instructions: "ENV PATH=/bin", "EXPOSE 7000").
func (c *Client) ImageImport(ctx context.Context, ref string, changes []string, tar io.Reader) error {
	q := url.Values{"fromSrc": {"-"}, "repo": {ref}, "changes": changes}
	resp, err := c.request(ctx, http.MethodPost, "/images/create", q, tar, http.Header{"Content-Type": {"application/x-tar"}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return progress(resp.Body)
}
