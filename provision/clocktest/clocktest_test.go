package clocktest

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestTimeoutFiresOnlyWhenAdvanced(t *testing.T) {
	c := New(time.Unix(0, 0))
	ctx, cancel := c.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if dl, ok := ctx.Deadline(); !ok || !dl.Equal(time.Unix(3600, 0)) {
		t.Fatalf("deadline %v %v", dl, ok)
	}
	c.Advance(time.Hour - time.Nanosecond)
	if ctx.Err() != nil || len(c.Pending()) != 1 {
		t.Fatalf("fired early: %v, pending %v", ctx.Err(), c.Pending())
	}
	c.Advance(time.Nanosecond)
	<-ctx.Done()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) || len(c.Pending()) != 0 {
		t.Fatalf("err %v, pending %v", ctx.Err(), c.Pending())
	}
}

func TestStopAndOrder(t *testing.T) {
	c := New(time.Unix(0, 0))
	a, stopA := c.After(time.Minute)
	b, _ := c.After(time.Second)
	_, cancel := c.WithTimeout(context.Background(), time.Minute)
	stopA()
	cancel()
	if p := c.Pending(); len(p) != 1 || p[0].Kind != KindAfter || p[0].D != time.Second {
		t.Fatalf("pending %v", p)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- c.WaitFor(ctx, func(p []Timer) bool { return len(p) == 0 })
	}()
	c.Advance(time.Minute)
	if got := <-b; !got.Equal(time.Unix(60, 0)) {
		t.Errorf("fired at %v", got)
	}
	select {
	case <-a:
		t.Error("a stopped timer fired")
	default:
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
