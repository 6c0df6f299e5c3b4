package scope_test

import (
	"fmt"

	"github.com/latchkey/latchkey/scope"
)

func ExampleParseExpr() {
	e, err := scope.ParseExpr("orders:read and (billing:read || admin)")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e)
	fmt.Println(e.Scopes())
	fmt.Println(e.Eval(scope.Set{"orders:*", "admin"}))
	fmt.Println(e.Eval(scope.Set{"orders:read"}))

	_, err = scope.ParseExpr("orders:read AND NOT admin")
	fmt.Println(err)
	// Output:
	// orders:read AND (billing:read OR admin)
	// [admin billing:read orders:read]
	// true
	// false
	// scope expression: NOT at offset 16 is not supported: a scope requirement cannot be negative
}

func ExampleSet_Has() {
	granted := scope.Set{"orders:*", "billing:read"}
	fmt.Println(granted.Has("orders:items:write"))
	fmt.Println(granted.Has("orders"))
	fmt.Println(granted.Has("billing:write"))
	fmt.Println(granted.Missing([]string{"orders:read", "billing:write"}))
	// Output:
	// true
	// false
	// false
	// [billing:write]
}
