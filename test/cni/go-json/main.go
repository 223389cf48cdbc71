// go-json: Go's encoding/json as an oracle for weft's JSON decoding. Each
// line of stdin is a base64 document; each line of stdout is what
// json.Unmarshal said when decoding it into Conf ("" when it took it).
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
)

// Conf has one field of each kind weft's schemas have: a string, an int, a
// float64, an interface{} and a map of them.
type Conf struct {
	Name     string                 `json:"name"`
	MTU      int                    `json:"mtu"`
	Wait     float64                `json:"wait"`
	Any      interface{}            `json:"any"`
	Delegate map[string]interface{} `json:"delegate"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		doc, err := base64.StdEncoding.DecodeString(in.Text())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		var c Conf
		msg := ""
		if err := json.Unmarshal(doc, &c); err != nil {
			msg = err.Error()
		}
		line, _ := json.Marshal(msg)
		fmt.Fprintln(out, string(line))
	}
}
