module caelus.io/post-render

go 1.24
