package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"

	"github.com/latchkey/latchkey/proxy"
	"github.com/latchkey/latchkey/server"
)

// proxyFlags are serve's settings for running the gateway in process.
type proxyFlags struct {
	routes, addr, upstream, jwtAudience, keyspace *string
}

func addProxyFlags(fs *flag.FlagSet, env func(string) string) *proxyFlags {
	return &proxyFlags{
		routes:      fs.String("proxy-routes", env("LATCHKEY_PROXY_ROUTES"), "route `file` (YAML): also run the verifying gateway, verifying in process (see latchkey proxy -h) (env LATCHKEY_PROXY_ROUTES)"),
		addr:        fs.String("proxy-addr", envOr(env, "LATCHKEY_PROXY_ADDR", "127.0.0.1:9000"), "listen address of the gateway (env LATCHKEY_PROXY_ADDR)"),
		upstream:    fs.String("proxy-upstream", env("LATCHKEY_PROXY_UPSTREAM"), "`URL` of the API behind the gateway (env LATCHKEY_PROXY_UPSTREAM)"),
		keyspace:    fs.String("proxy-keyspace", env("LATCHKEY_PROXY_KEYSPACE"), "gateway accepts only keys of this `keyspace` on routes that name none; '*' accepts every keyspace (env LATCHKEY_PROXY_KEYSPACE)"),
		jwtAudience: fs.String("proxy-jwt-audience", env("LATCHKEY_PROXY_JWT_AUDIENCE"), "gateway also admits latchkey JWTs with this `audience` (env LATCHKEY_PROXY_JWT_AUDIENCE)"),
	}
}

// apply loads the route file, if any, into cfg.Proxy.
func (f *proxyFlags) apply(cfg *server.Config) error {
	if *f.routes == "" {
		if *f.upstream != "" {
			return fmt.Errorf("--proxy-upstream needs --proxy-routes")
		}
		return nil
	}
	up, err := url.Parse(*f.upstream)
	if err != nil || (up.Scheme != "http" && up.Scheme != "https") || up.Host == "" {
		return fmt.Errorf("--proxy-upstream must be an http(s) URL")
	}
	rs, err := proxy.Load(*f.routes)
	if err != nil {
		return err
	}
	if err := proxy.CheckKeyspaces(rs, *f.keyspace); err != nil {
		return errors.New(strings.Replace(strings.TrimPrefix(err.Error(), "proxy: "), "latchkey proxy --keyspace NAME, serve --proxy-keyspace NAME", "--proxy-keyspace NAME", 1))
	}
	cfg.Proxy = &server.ProxyConfig{Addr: *f.addr, Upstream: up, Routes: rs, Keyspace: *f.keyspace, JWTAudience: *f.jwtAudience}
	return nil
}
