module caelus.io/spawner

go 1.24
