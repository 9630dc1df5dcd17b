package chat

import (
	"errors"
	"fmt"
	"unicode"

	"golang.org/x/text/secure/precis"
)

// ErrLookalikeName is returned by NameKey for a name that could pass for
// another: it holds an invisible or otherwise disallowed character, or
// letters of scripts that are not used together.
var ErrLookalikeName = errors.New("name could pass for another")

// NameKey returns the form in which two usernames are compared: the PRECIS
// UsernameCaseMapped profile of RFC 8265 (width-mapped, case-folded, NFC),
// so "Bob", "BOB" and "ｂｏｂ" are all "bob". It refuses what that profile
// disallows, such as zero-width and other default-ignorable characters
// (U+200B, the Hangul filler U+3164), and names that mix scripts in a way
// no language does, such as a Cyrillic "о" among Latin letters.
func NameKey(name string) (string, error) {
	key, err := precis.UsernameCaseMapped.String(name)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrLookalikeName, err)
	}
	if !singleScript(key) {
		return "", fmt.Errorf("%w: letters of more than one script", ErrLookalikeName)
	}
	return key, nil
}

// scripts are the scripts a name's letters are sorted into; a letter of
// any other script counts as one more, "other".
var scripts = []struct {
	name  string
	table *unicode.RangeTable
}{
	{"Latin", unicode.Latin}, {"Greek", unicode.Greek}, {"Cyrillic", unicode.Cyrillic},
	{"Armenian", unicode.Armenian}, {"Hebrew", unicode.Hebrew}, {"Arabic", unicode.Arabic},
	{"Devanagari", unicode.Devanagari}, {"Thai", unicode.Thai}, {"Georgian", unicode.Georgian},
	{"Han", unicode.Han}, {"Hiragana", unicode.Hiragana}, {"Katakana", unicode.Katakana},
	{"Hangul", unicode.Hangul}, {"Bopomofo", unicode.Bopomofo},
}

// allowedMixes are the sets of scripts that languages write together
// (Unicode UTS #39, "highly restrictive"): Japanese, Chinese with
// Bopomofo, and Korean, each with Latin.
var allowedMixes = []map[string]bool{
	{"Latin": true, "Han": true, "Hiragana": true, "Katakana": true},
	{"Latin": true, "Han": true, "Bopomofo": true},
	{"Latin": true, "Han": true, "Hangul": true},
}

// singleScript reports whether the letters of s come from one script, or
// from a set of scripts that one language uses together. Digits and
// punctuation (the Common and Inherited scripts) go with any script.
func singleScript(s string) bool {
	seen := make(map[string]bool, 2)
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsMark(r) {
			continue
		}
		if unicode.Is(unicode.Common, r) || unicode.Is(unicode.Inherited, r) {
			continue
		}
		name := "other"
		for _, sc := range scripts {
			if unicode.Is(sc.table, r) {
				name = sc.name
				break
			}
		}
		seen[name] = true
	}
	if len(seen) <= 1 {
		return true
	}
	for _, mix := range allowedMixes {
		ok := true
		for sc := range seen {
			if !mix[sc] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
