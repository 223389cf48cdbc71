// libcni-client is a minimal container runtime built on Go's libcni (the
// Debian golang-github-appc-cni-dev package). weft's tests use it to prove
// that weft's cnitool and a libcni-based runtime read and write the same
// result cache: each can CHECK and DEL what the other added.
//
// Usage: libcni-client add|check|del|cached <confdir> <network> <containerID> <netns> <ifname>
//
// CNI_PATH, CNI_CACHE_DIR, CNI_ARGS (K=V;K=V) and CAP_ARGS (JSON) are read
// from the environment. "cached" prints what libcni reads back from the
// cache for this attachment.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

func main() {
	if len(os.Args) != 7 {
		fmt.Fprintln(os.Stderr, "usage: libcni-client add|check|del|cached <confdir> <network> <containerID> <netns> <ifname>")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5], os.Args[6]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func runtimeConf(containerID, netns, ifName string) (*libcni.RuntimeConf, error) {
	rt := &libcni.RuntimeConf{ContainerID: containerID, NetNS: netns, IfName: ifName}
	if s := os.Getenv("CNI_ARGS"); s != "" {
		for _, pair := range strings.Split(s, ";") {
			kv := strings.SplitN(pair, "=", 2)
			if len(kv) != 2 {
				return nil, fmt.Errorf("bad CNI_ARGS pair %q", pair)
			}
			rt.Args = append(rt.Args, [2]string{kv[0], kv[1]})
		}
	}
	if s := os.Getenv("CAP_ARGS"); s != "" {
		if err := json.Unmarshal([]byte(s), &rt.CapabilityArgs); err != nil {
			return nil, err
		}
	}
	return rt, nil
}

func run(verb, confDir, network, containerID, netns, ifName string) error {
	list, err := libcni.LoadConfList(confDir, network)
	if err != nil {
		return err
	}
	rt, err := runtimeConf(containerID, netns, ifName)
	if err != nil {
		return err
	}
	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(os.Getenv("CNI_PATH")), os.Getenv("CNI_CACHE_DIR"), nil)
	ctx := context.Background()
	switch verb {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			return err
		}
		return result.Print()
	case "check":
		return cni.CheckNetworkList(ctx, list, rt)
	case "del":
		return cni.DelNetworkList(ctx, list, rt)
	case "cached":
		return printCached(cni, list, rt)
	}
	return fmt.Errorf("unknown verb %q", verb)
}

// printCached shows the cached result (converted to the list's version), the
// cached list bytes and the runtime args libcni restores from the cache.
func printCached(cni *libcni.CNIConfig, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) error {
	result, err := cni.GetNetworkListCachedResult(list, rt)
	if err != nil {
		return err
	}
	config, cachedRt, err := cni.GetNetworkListCachedConfig(list, rt)
	if err != nil {
		return err
	}
	out := map[string]interface{}{"result": result}
	if cachedRt != nil {
		out["config"] = string(config)
		out["cniArgs"] = cachedRt.Args
		out["capabilityArgs"] = cachedRt.CapabilityArgs
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}
