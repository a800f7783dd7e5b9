package main

import (
	"fmt"

	"example.com/demo/util"
)

func main() {
	b := util.NewBuilder()
	fmt.Println(util.Reverse(b.String()))
}
