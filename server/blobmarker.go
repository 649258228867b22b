package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/lathe-ci/lathe/blob"
)

// installationKey is the object, at the top of a shared blob store's
// prefix, naming the installation (store.Store.Installation) whose blobs
// are there.
const installationKey = "lathe-installation"

// claimBlobPrefix makes sure the blob store b (where names it) belongs to
// the installation marker names: it writes the marker into a store that
// has none, and refuses one holding another's. A server removes at start
// the blobs of runs and projects its database does not hold (orphans), so
// a server of another installation sharing the prefix would delete every
// blob of this one, and write its own under the same keys.
func claimBlobPrefix(ctx context.Context, b blob.Store, marker, where string) error {
	body, err := b.Get(ctx, installationKey, 0, 1024)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := b.Put(ctx, installationKey, strings.NewReader(marker), blob.Want{Size: int64(len(marker))}); err != nil {
			return fmt.Errorf("mark %s as this installation's: %w", where, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the installation marker of %s: %w", where, err)
	}
	defer body.Close()
	got, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("read the installation marker of %s: %w", where, err)
	}
	if string(got) != marker {
		return fmt.Errorf("%s holds the blobs of another Lathe installation (its marker %q, this database's %q); "+
			"give each installation a bucket or prefix of its own, or point this server at that installation's database", where, got, marker)
	}
	return nil
}
