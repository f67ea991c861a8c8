package xapi

import (
	"context"
	"fmt"
)

// recordPtr is a pointer to a record type that decodes itself.
type recordPtr[T any] interface {
	*T
	UnmarshalXAPI(v any) error
}

func (c *Client) callVoid(ctx context.Context, method string, params ...any) error {
	_, err := c.Call(ctx, method, params...)
	return err
}

func (c *Client) callString(ctx context.Context, method string, params ...any) (string, error) {
	v, err := c.Call(ctx, method, params...)
	if err != nil {
		return "", err
	}
	s, err := asString(v)
	if err != nil {
		return "", c.shapeErr(method, err)
	}
	return s, nil
}

func (c *Client) callRef(ctx context.Context, method string, params ...any) (Ref, error) {
	s, err := c.callString(ctx, method, params...)
	return Ref(s), err
}

func (c *Client) callInt(ctx context.Context, method string, params ...any) (int64, error) {
	v, err := c.Call(ctx, method, params...)
	if err != nil {
		return 0, err
	}
	n, err := asInt(v)
	if err != nil {
		return 0, c.shapeErr(method, err)
	}
	return n, nil
}

func (c *Client) callRefs(ctx context.Context, method string, params ...any) ([]Ref, error) {
	v, err := c.Call(ctx, method, params...)
	if err != nil {
		return nil, err
	}
	ss, err := asStrings(v)
	if err != nil {
		return nil, c.shapeErr(method, err)
	}
	out := make([]Ref, len(ss))
	for i, s := range ss {
		out[i] = Ref(s)
	}
	return out, nil
}

func (c *Client) callStringMap(ctx context.Context, method string, params ...any) (map[string]string, error) {
	v, err := c.Call(ctx, method, params...)
	if err != nil {
		return nil, err
	}
	m, err := asStringMap(v)
	if err != nil {
		return nil, c.shapeErr(method, err)
	}
	return m, nil
}

// shapeErr reports a Value whose shape does not fit the method.
func (c *Client) shapeErr(method string, err error) error {
	return c.transportErr(method, 0, fmt.Errorf("unexpected Value: %w", err))
}

// getRecord calls <class>.get_record.
func getRecord[T any, PT recordPtr[T]](ctx context.Context, c *Client, class string, ref Ref) (T, error) {
	var rec T
	method := class + ".get_record"
	v, err := c.Call(ctx, method, ref)
	if err != nil {
		return rec, err
	}
	if err := PT(&rec).UnmarshalXAPI(v); err != nil {
		return rec, c.shapeErr(method, err)
	}
	return rec, nil
}

// getAllRecords calls <class>.get_all_records.
func getAllRecords[T any, PT recordPtr[T]](ctx context.Context, c *Client, class string) (map[Ref]T, error) {
	method := class + ".get_all_records"
	v, err := c.Call(ctx, method)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, c.shapeErr(method, fmt.Errorf("got %T, want a struct of records", v))
	}
	out := make(map[Ref]T, len(m))
	for ref, rv := range m {
		var rec T
		if err := PT(&rec).UnmarshalXAPI(rv); err != nil {
			return nil, c.shapeErr(method, fmt.Errorf("%s: %w", ref, err))
		}
		out[Ref(ref)] = rec
	}
	return out, nil
}
