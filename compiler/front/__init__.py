"""Text to program: the grammar's parser (Lark, and a fast path for plain
files), the AST, and the language's rules about names and shapes.  The
only part of gradc that imports Lark."""
