select ÿþ as x
