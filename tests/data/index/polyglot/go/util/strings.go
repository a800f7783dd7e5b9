package util

// Reverse returns s backwards.
func Reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// Builder builds strings.
type Builder struct {
	parts []string
}

type Stringer interface {
	String() string
}

func NewBuilder() *Builder { return &Builder{} }

func (b *Builder) String() string { return Reverse("olleh") }
