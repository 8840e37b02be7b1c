module kkim/tests/bench/gobbench

go 1.19
