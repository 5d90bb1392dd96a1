"""Reading articles in: files of every format we read, web pages by URL, and the one place their text is
validated and (when we converted it) cleaned before it is stored."""
