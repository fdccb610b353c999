// Package lookalike holds the rules that keep two names from looking the
// same while being different (emails, people's names, project names):
// characters that do not show or change how the text around them shows,
// and confusable skeletons (Unicode TR 39). It is plain text handling,
// shared by auth (accounts) and runs (projects).
package lookalike

import (
	"strings"
	"unicode"

	"github.com/mtibben/confusables"
)

// Skeleton is a name's confusable skeleton, lower-cased: two names that
// render alike (Cyrillic "а" and Latin "a", "ı" and "i", "rn" and "m") have
// the same skeleton.
func Skeleton(s string) string {
	return strings.ToLower(confusables.Skeleton(s))
}

// Hidden reports a character that does not show, or changes how the text
// around it shows, so that two different strings look the same:
// default-ignorable and format characters (zero-width space, soft hyphen,
// BOM, joiners, variation selectors), bidirectional controls (RLO), line
// and paragraph separators, and spaces other than U+0020 (allowSpace) or
// none at all.
func Hidden(r rune, allowSpace bool) bool {
	switch {
	case r == ' ':
		return !allowSpace
	case unicode.IsControl(r),
		unicode.In(r, unicode.Cf, unicode.Zs, unicode.Zl, unicode.Zp, unicode.Bidi_Control, unicode.Join_Control,
			unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point, unicode.Noncharacter_Code_Point):
		return true
	}
	return false
}

// Combining reports a combining mark: after NFKC, one that is left has no
// precomposed letter to join and can only decorate another character,
// unseen.
func Combining(r rune) bool { return unicode.In(r, unicode.Mn, unicode.Me) }
