package xapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"xenlab/hosts/xapi/xmlrpc"
)

// normalizeURL checks the endpoint URL and gives it a path.
func normalizeURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("xapi: no URL")
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the input, which may hold a password.
		return "", errors.New("xapi: URL does not parse")
	}
	if u.User != nil {
		return "", errors.New("xapi: URL must not carry credentials; use Options.User and Options.Password")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("xapi: URL scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return "", fmt.Errorf("xapi: URL %q has no host", u.Redacted())
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), nil
}

// httpClient builds the HTTP client for the endpoint and TLS options.
func httpClient(endpoint string, opts Options) (*http.Client, bool, error) {
	if opts.Fingerprint == "" {
		if opts.HTTPClient != nil {
			return opts.HTTPClient, false, nil
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32
		return &http.Client{Transport: tr}, true, nil
	}
	if !strings.HasPrefix(endpoint, "https:") {
		return nil, false, errors.New("xapi: a certificate fingerprint needs an https URL")
	}
	pin, err := ParseFingerprint(opts.Fingerprint)
	if err != nil {
		return nil, false, err
	}
	var tr *http.Transport
	hc := &http.Client{}
	switch {
	case opts.HTTPClient == nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32
	case opts.HTTPClient.Transport == nil:
		*hc = *opts.HTTPClient
		tr = http.DefaultTransport.(*http.Transport).Clone()
	default:
		base, ok := opts.HTTPClient.Transport.(*http.Transport)
		if !ok {
			return nil, false, fmt.Errorf("xapi: cannot pin a fingerprint on a %T transport", opts.HTTPClient.Transport)
		}
		*hc = *opts.HTTPClient
		tr = base.Clone()
	}
	tr.TLSClientConfig = pinnedTLSConfig(pin)
	hc.Transport = tr
	return hc, true, nil
}

// roundTrip posts one call and decodes xapi's {Status, Value} envelope.
func (c *Client) roundTrip(ctx context.Context, method string, params []any, extra time.Duration) (any, error) {
	body, err := xmlrpc.MarshalCall(method, params)
	if err != nil {
		return nil, fmt.Errorf("xapi %s: encoding the call: %w", method, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout+extra)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, c.transportErr(method, 0, err)
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("User-Agent", "xenlab")
	c.roundTrips.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the endpoint is already in TransportError.URL
		}
		return nil, c.transportErr(method, 0, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, xmlrpc.MaxMessageSize+1))
	if err != nil {
		return nil, c.transportErr(method, resp.StatusCode, fmt.Errorf("reading the response: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.transportErr(method, resp.StatusCode, fmt.Errorf("response %q", tail(data)))
	}
	if len(data) > xmlrpc.MaxMessageSize {
		return nil, c.transportErr(method, 0, fmt.Errorf("response exceeds %d bytes", xmlrpc.MaxMessageSize))
	}
	v, err := xmlrpc.UnmarshalResponse(data)
	if err != nil {
		return nil, c.transportErr(method, 0, err)
	}
	return c.envelope(method, v)
}

// envelope unpacks {Status: Success, Value} or {Status: Failure,
// ErrorDescription: [code, params...]}.
func (c *Client) envelope(method string, v any) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, c.transportErr(method, 0, fmt.Errorf("response is %T, want a {Status, Value} struct", v))
	}
	switch status, _ := m["Status"].(string); status {
	case "Success":
		return m["Value"], nil
	case "Failure":
		e := &Error{Method: method}
		desc, _ := m["ErrorDescription"].([]any)
		for i, d := range desc {
			s, ok := d.(string)
			if !ok {
				s = fmt.Sprint(d)
			}
			if i == 0 {
				e.Code = s
			} else {
				e.Params = append(e.Params, s)
			}
		}
		return nil, e
	default:
		return nil, c.transportErr(method, 0, fmt.Errorf("response Status %q is neither Success nor Failure", status))
	}
}

func (c *Client) transportErr(method string, status int, err error) error {
	return &TransportError{Method: method, URL: c.endpoint, StatusCode: status, Err: err}
}

// tail returns the end of a response body for error messages.
func tail(b []byte) string {
	const n = 200
	b = bytes.TrimSpace(b)
	if len(b) > n {
		return "..." + string(b[len(b)-n:])
	}
	return string(b)
}
