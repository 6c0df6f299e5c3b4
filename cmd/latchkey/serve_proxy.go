package main

import (
	"flag"
	"fmt"
	"net/url"

	"github.com/latchkey/latchkey/proxy"
	"github.com/latchkey/latchkey/server"
)

// proxyFlags are serve's settings for running the gateway in process.
type proxyFlags struct {
	routes, addr, upstream, jwtAudience *string
}

func addProxyFlags(fs *flag.FlagSet, env func(string) string) *proxyFlags {
	return &proxyFlags{
		routes:      fs.String("proxy-routes", env("LATCHKEY_PROXY_ROUTES"), "route `file` (YAML): also run the verifying gateway, verifying in process (see latchkey proxy -h) (env LATCHKEY_PROXY_ROUTES)"),
		addr:        fs.String("proxy-addr", envOr(env, "LATCHKEY_PROXY_ADDR", "127.0.0.1:9000"), "listen address of the gateway (env LATCHKEY_PROXY_ADDR)"),
		upstream:    fs.String("proxy-upstream", env("LATCHKEY_PROXY_UPSTREAM"), "`URL` of the API behind the gateway (env LATCHKEY_PROXY_UPSTREAM)"),
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
	cfg.Proxy = &server.ProxyConfig{Addr: *f.addr, Upstream: up, Routes: rs, JWTAudience: *f.jwtAudience}
	return nil
}
