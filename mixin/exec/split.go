package exec

import (
	"errors"
	"strings"
)

// errUnmatchedQuote reports a token whose quote is never closed.
var errUnmatchedQuote = errors.New("unmatched quote found")

// splitTokens splits each token on spaces, tabs and newlines, keeping quoted
// runs together (the quotes themselves are dropped) and letting a backslash
// escape the next character. A token with an unmatched quote is kept intact.
func splitTokens(tokens []string) []string {
	out := make([]string, 0, len(tokens))
	for _, tok := range tokens {
		out = append(out, splitWords(tok)...)
	}
	return out
}

func splitWords(input string) []string {
	words, err := words(input)
	if err != nil {
		return []string{input}
	}
	return words
}

// words is a small shell-like lexer: whitespace separates words unless it is
// quoted or escaped; a quote opens a run that ends at the same quote
// character; backslashes escape the next rune and are removed.
func words(input string) ([]string, error) {
	var (
		out     []string
		cur     strings.Builder
		inWord  bool
		quote   rune
		escaped bool
	)
	for _, r := range input {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
			inWord = true
		case r == '\\':
			escaped = true
			inWord = true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote = r
			inWord = true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, errUnmatchedQuote
	}
	if escaped {
		// A trailing backslash escapes nothing; keep it literally.
		cur.WriteRune('\\')
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}
