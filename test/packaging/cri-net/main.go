// cri-net sets up or tears down a sandbox's network the way containerd's CRI
// plugin does for kubelet: go-cni loads the first configuration in the conf
// dir plus loopback, and every call carries the pod labels (with
// IgnoreUnknown) and the port mappings as capability args.
//
//	cri-net setup|remove -bin-dir D -conf-dir D -id ID -netns PATH [-pod NS/NAME] [-port HOST:CONTAINER ...]
//
// setup prints the result's interfaces and addresses as JSON on stdout.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	gocni "github.com/containerd/go-cni"
)

type ports []gocni.PortMapping

func (p *ports) String() string { return fmt.Sprint(*p) }

func (p *ports) Set(v string) error {
	host, container, ok := strings.Cut(v, ":")
	if !ok {
		return fmt.Errorf("port %q is not HOST:CONTAINER", v)
	}
	h, err := strconv.Atoi(host)
	if err != nil {
		return err
	}
	c, err := strconv.Atoi(container)
	if err != nil {
		return err
	}
	*p = append(*p, gocni.PortMapping{HostPort: int32(h), ContainerPort: int32(c), Protocol: "tcp"})
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "cri-net:", err)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: cri-net setup|remove [flags]"))
	}
	verb := os.Args[1]
	fs := flag.NewFlagSet(verb, flag.ExitOnError)
	binDir := fs.String("bin-dir", "/opt/cni/bin", "CNI bin folder")
	confDir := fs.String("conf-dir", "/etc/cni/net.d", "CNI conf folder")
	id := fs.String("id", "", "sandbox ID")
	netns := fs.String("netns", "", "netns path")
	pod := fs.String("pod", "default/pod", "pod namespace/name")
	var mappings ports
	fs.Var(&mappings, "port", "HOST:CONTAINER tcp port mapping (repeatable)")
	_ = fs.Parse(os.Args[2:])

	network, err := gocni.New(gocni.WithMinNetworkCount(2), gocni.WithPluginConfDir(*confDir), gocni.WithPluginMaxConfNum(1), gocni.WithPluginDir([]string{*binDir}))
	if err != nil {
		fail(err)
	}
	if err := network.Load(gocni.WithLoNetwork, gocni.WithDefaultConf); err != nil {
		fail(err)
	}
	podNs, podName, _ := strings.Cut(*pod, "/")
	opts := []gocni.NamespaceOpts{
		gocni.WithLabels(map[string]string{
			"K8S_POD_NAMESPACE":          podNs,
			"K8S_POD_NAME":               podName,
			"K8S_POD_INFRA_CONTAINER_ID": *id,
			"K8S_POD_UID":                "uid-" + *id,
			"IgnoreUnknown":              "1",
		}),
		gocni.WithCapabilityPortMap(mappings),
	}
	ctx := context.Background()
	switch verb {
	case "setup":
		result, err := network.Setup(ctx, *id, *netns, opts...)
		if err != nil {
			fail(err)
		}
		out := map[string][]string{}
		for name, cfg := range result.Interfaces {
			for _, ip := range cfg.IPConfigs {
				out[name] = append(out[name], ip.IP.String())
			}
		}
		_ = json.NewEncoder(os.Stdout).Encode(out)
	case "remove":
		if err := network.Remove(ctx, *id, *netns, opts...); err != nil {
			fail(err)
		}
	default:
		fail(fmt.Errorf("unknown verb %q", verb))
	}
}
