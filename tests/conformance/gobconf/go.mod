module kkim/tests/conformance/gobconf

go 1.19
