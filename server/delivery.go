package server

import (
	"context"
	"sync"

	"github.com/lathe-ci/lathe/delivery"
)

// newDelivery makes the loop that sends commit statuses and webhook
// messages through the one outbound client.
func (s *Server) newDelivery() *delivery.Loop {
	public := s.cfg.PublicURL
	if public == "" {
		public = s.URL
	}
	repos := s.cfg.ForgeRepos
	if repos == nil {
		repos = s.trigger // the project's forge connection and repository
	}
	l := &delivery.Loop{
		Store:     s.Store,
		Client:    s.outbound,
		Repos:     repos,
		PublicURL: public,
		Clock:     s.cfg.Clock,
		Poll:      s.cfg.DeliveryPoll,
		Log:       s.cfg.Log,
	}
	if s.keys != nil {
		l.Keys = s.keys
	}
	return l
}

// startDelivery runs the delivery loop until the returned stop is called;
// stop waits for it.
func (s *Server) startDelivery(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.deliver.Run(ctx)
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}
