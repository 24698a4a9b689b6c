// video
