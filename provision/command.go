package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Command runs an operator's executable for each action: `PATH start`,
// `PATH stop` or `PATH list`, with one JSON object on stdin and one on
// stdout (docs/providers.md is the contract). A non-zero exit is an
// error; its stderr is the message.
type Command struct {
	Path string
	// Timeout bounds one call (zero: 5 minutes).
	Timeout time.Duration
}

// startOutput is what `start` prints.
type startOutput struct {
	Handle string `json:"handle"`
}

// listOutput is what `list` prints.
type listOutput struct {
	Instances []Listed `json:"instances"`
}

// Start runs `PATH start` with the Spec on stdin; it prints {"handle": ID}.
func (c *Command) Start(ctx context.Context, s Spec) (string, error) {
	var out startOutput
	if err := c.call(ctx, "start", s, &out); err != nil {
		return "", err
	}
	if out.Handle == "" {
		return "", fmt.Errorf("%s start: printed no handle", c.Path)
	}
	return out.Handle, nil
}

// Stop runs `PATH stop` with {"group", "name", "handle"} on stdin.
func (c *Command) Stop(ctx context.Context, group, name, handle string) error {
	return c.call(ctx, "stop", map[string]string{"group": group, "name": name, "handle": handle}, nil)
}

// List runs `PATH list` with {"group"} on stdin; it prints
// {"instances": [{"name", "handle"}…]}.
func (c *Command) List(ctx context.Context, group string) ([]Listed, error) {
	var out listOutput
	if err := c.call(ctx, "list", map[string]string{"group": group}, &out); err != nil {
		return nil, err
	}
	return out.Instances, nil
}

func (c *Command) call(ctx context.Context, action string, in, out any) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, c.Path, action)
	cmd.Stdin = bytes.NewReader(body)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A script's background children may hold stdout open: stop waiting
	// for them once the script itself has exited.
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return fmt.Errorf("%s %s: %v: %s", c.Path, action, err, msg)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		return fmt.Errorf("%s %s: stdout is not the JSON the contract asks for: %v: %.200q", c.Path, action, err, stdout.String())
	}
	return nil
}
