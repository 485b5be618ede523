"""The Communication Log: its listing (also a batch's communications list), one notice's
page, its viewset, and the "Communications" section of register pages."""
