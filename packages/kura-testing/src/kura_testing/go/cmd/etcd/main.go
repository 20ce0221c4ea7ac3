// Command etcd is the etcd server at the release k8s.io/kubernetes itself pins, so the test
// control plane runs the etcd its API server is tested with.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
